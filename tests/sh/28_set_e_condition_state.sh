# set -e stays on after a condition whose command changes shell state.
set -e
mkdir -p sub
if cd sub; then echo "in sub"; fi
echo "${PWD##*/}" > ../where.txt
cd ..
x=1 && echo "x=$x"
false
echo "never here" > never.txt
