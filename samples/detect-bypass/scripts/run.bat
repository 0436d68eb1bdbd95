@echo off
echo modelgate-bypass-sample
