# Bracket expressions as sh reads them: a reader of [[:alpha:]]3 waits for the
# writer of d3, [!a]1 for b1 (each writer slow: a pipeline that waits for sleep).
sleep 0.3 | cat > b1
echo [!a]1
sleep 0.3 | cat > d3
echo [[:alpha:]]3
ls [[:digit:][:alpha:]]3
sleep 0.3 | cat > 'e]4'
echo e]*
