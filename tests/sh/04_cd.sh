# cd carries to later commands; relative paths follow it.
mkdir -p sub/deeper
cd sub
echo inside > here.txt
cd deeper
echo deeper > here.txt
cd ..
cat here.txt deeper/here.txt
cd -
ls sub
cd "$OLDPWD"
basename "$PWD"
