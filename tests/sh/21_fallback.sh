# trap and exec: jx runs the rest of the script as one sh from there.
echo before > before.txt
trap 'echo trapped on exit' EXIT
echo after trap
exec 3> fd3.txt
echo via fd3 >&3
exit 5
