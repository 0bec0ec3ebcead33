# A loop body that sets its own variable: the commands after it in the turn,
# and the script after the loop, see what the body set.
for i in 1 2; do i=x$i; echo $i; done
echo "after $i"
for j in a b; do unset j; done
echo "j=${j-unset}"
for k in x y; do echo "k=$k" > k.$k; read k < k.$k; echo "read $k"; done
echo "k=$k"
# An inner loop of the same name sets it for the rest of the outer turn.
for n in a b; do
  for n in 1 2; do echo "in $n"; done
  echo "after inner $n"
done
echo "end $n"
