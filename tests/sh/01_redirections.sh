# Redirections: >, >>, <, 2>&1, >|, <> and /dev/null.
echo one > a.txt
echo two > b.txt
echo three >| c.txt
cat < a.txt > a.copy
echo err 2>&1 >&2 > d.txt
ls missing-file 2> err.txt >/dev/null
cat a.txt b.txt > ab.txt 2>/dev/null
echo appended >> ab.txt
wc -l < ab.txt
cat ab.txt
