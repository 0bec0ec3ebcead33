# The exit status of the script is that of its exit.
echo before
sort nothing-here 2>/dev/null
echo "sort failed: $?"
(exit 7)
echo "subshell: $?"
exit 4
echo after
