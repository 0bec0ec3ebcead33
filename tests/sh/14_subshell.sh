# Subshells keep their state changes to themselves.
x=outer
(x=inner; echo "in: $x")
echo "out: $x"
(cd /; pwd)
basename "$(pwd)" >/dev/null
mkdir s
(cd s && echo made > inside.txt)
cat s/inside.txt
(exit 3) || echo "subshell failed with $?"
{ echo grouped; echo group2; } > group.txt
cat group.txt
