echo modelgate-bypass-sample
