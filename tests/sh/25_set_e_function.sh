# set -e inside a function call and a subshell; the exit status is sh's.
set -e
step() { echo "step $1"; [ "$1" != 3 ]; }
step 1
step 2 > two.txt
(false; echo "not printed")
echo "not reached either"
