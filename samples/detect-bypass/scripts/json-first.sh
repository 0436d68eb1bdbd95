{"a": 1}
echo modelgate-bypass-sample
