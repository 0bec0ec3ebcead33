# Variables and export reach later commands and child processes.
name=world
greeting="hello $name"
echo "$greeting"
export LEVEL=3
sh -c 'echo "child sees LEVEL=$LEVEL"'
unexported=1
sh -c 'echo "child sees unexported=[$unexported]"'
export unexported
sh -c 'echo "now child sees unexported=[$unexported]"'
unset name
echo "name=[$name]"
multi='line one
line two'
echo "$multi" > multi.txt
quote="it's \"quoted\""
echo "$quote"
empty=
echo "empty=[$empty]"
: ${defaulted:=fallback}
echo "$defaulted"
n=$((3 + 4))
echo "n=$n"
