# set -e inside a condition is ignored there, also in a subshell, without set -e in the script.
if ( set -e; false; echo "inner goes on" ); then echo "then taken"; fi
! ( set -e; false; echo "after ! too" )
( set -e; false; echo "left of || goes on" ) || echo "|| taken"
true && ( set -e; false; echo "last of && stops" )
echo "status $?"
