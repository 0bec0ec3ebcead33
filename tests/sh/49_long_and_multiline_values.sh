# Values of many lines: a command's messages still name its own line. And an
# exported value too long for a process's environment: the program that gets
# it fails to start, as under sh; the script's own commands do not.
x=$(seq 1 10)
echo hi
cd /nonexistent
big=$(seq 1 40000)
echo "${#big}"
export big
sh -c 'echo started'
echo "still ${#big}"
