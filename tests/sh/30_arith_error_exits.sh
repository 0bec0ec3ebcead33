# An error in an arithmetic expansion exits sh: nothing after it runs.
echo "$((6 * 7))" > n.txt
echo $((1 / 0))
echo after > after.txt
