# Functions named like regular builtins (printf, pwd, umask) that jx itself
# uses to carry the state from one job to the next.
printf() { echo "P:$*"; }
pwd() { echo "my pwd"; }
umask() { echo "my umask"; }
x=1
echo "x=$x"
pwd
umask
umask 027
mkdir d && cd d
echo "y"
