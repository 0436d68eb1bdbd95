CreateObject("WScript.Shell").Run "cmd /c echo modelgate-bypass-sample"
