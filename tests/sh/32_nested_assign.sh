# Assignments nested inside expansions change the shell state.
echo ${x:-$((y+=1))} > a
echo "y=$y"
echo ${a:-${b:=B}}
echo "b=$b"
