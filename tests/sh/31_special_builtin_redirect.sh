# A redirection error on a special builtin (`:`) exits sh.
: > made.txt
echo start
: > missing-dir/x.txt
echo after > after.txt
