# A builtin named through a variable whose effect lives in the shell (trap,
# exec, set -x): the rest of the script runs as one sh, as it would for the
# builtin named plainly. Other names through variables run as jobs.
p=printf
$p '%s\n' one > one.txt
$p '%s\n' two > two.txt
cat one.txt two.txt
c=trap
$c 'echo bye' EXIT
e=exec
$e 3> fd3.txt
echo to-fd3 >&3
s=set
$s -x
echo traced
