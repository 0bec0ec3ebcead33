# Two names for one file through a symbolic link the script makes: a reader of
# real/f waits for a writer of link/f (each writer slow: a group that sleeps).
mkdir real
ln -s real link
{ sleep 0.3; echo hi; } > link/f
cat real/f
echo b > real/g
{ sleep 0.3; echo more; } >> link/g
cat real/g
ln -s real/f flink
{ sleep 0.3; echo via-flink; } > flink
cat real/f
rm flink
ls
cat real/*
