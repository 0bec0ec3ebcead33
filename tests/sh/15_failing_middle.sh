# A failing command mid-script does not stop it (no set -e).
echo one > one.txt
cat does-not-exist
echo "after failure: $?"
ls does-not-exist-either 2>&1 | sed 's/^ls: //' > ls.err
echo two > two.txt
false
echo three
