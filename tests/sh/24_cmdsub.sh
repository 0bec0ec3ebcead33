# Command substitutions and backticks.
echo hello > h.txt
content=$(cat h.txt)
echo "content=$content"
echo "upper=`tr a-z A-Z < h.txt`"
lines=$(wc -l < h.txt)
echo "lines=$lines"
echo "$(echo nested $(echo deep))"
count=$(ls | wc -l)
echo "files: $count"
