# && and || chains, left to right.
true && echo a1
false && echo a2
false || echo o1
true || echo o2
false && echo x || echo y
true && false || echo z
mkdir d && echo made > d/f && cat d/f
[ -d nonexistent ] || mkdir nonexistent && echo "made nonexistent"
false || false || echo "third"
echo last && false
echo "status $?"
