# read from a file in a loop, set -u, $? in messages.
printf 'l1\nl2\nl3\n' > lines
while read -r line; do
  echo "got $line"
done < lines
read first < lines
echo "first=$first"
set -u
echo "ok $first"
grep -q l9 lines
echo "grep said $?"
echo "$undefined_var"
echo not reached
