{
  "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
  "verificationMaterial": {
    "publicKey": {
      "hint": "57116f26ba0aae34c7fbb102ed8192bad07ae54e6650cb35aec511d39afbbf13"
    },
    "tlogEntries": []
  },
  "dsseEnvelope": {
    "payload": "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEiLCJzdWJqZWN0IjpbeyJuYW1lIjoibW9kZWwiLCJkaWdlc3QiOnsic2hhMjU2IjoiMDFlZGE4NjgxZDUzZjU4OGJhMDkzNzUwNWQyYzM1NGMwYzU4MDkzNjUzMTE3ZDY3NmE5YmUzZTI3YmIzNzA0NiJ9fV0sInByZWRpY2F0ZVR5cGUiOiJodHRwczovL21vZGVsX3NpZ25pbmcvc2lnbmF0dXJlL3YxLjAiLCJwcmVkaWNhdGUiOnsic2VyaWFsaXphdGlvbiI6eyJtZXRob2QiOiJmaWxlcyIsImhhc2hfdHlwZSI6InNoYTI1NiIsImFsbG93X3N5bWxpbmtzIjpmYWxzZSwiaWdub3JlX3BhdGhzIjpbIi5naXQiLCIuZ2l0YXR0cmlidXRlcyIsIi5naXRodWIiLCIuZ2l0aWdub3JlIiwibW9kZWwuc2lnIl19LCJyZXNvdXJjZXMiOlt7Im5hbWUiOiJjb25maWcuanNvbiIsImRpZ2VzdCI6IjZhZTYyZmNhZWRjYmI3ZDlmNGRiNDQ0ODliZTMwOGFmZDJjNGQ0OGE5Y2M4NTUwMGY4NjU5YTBlYzhjNGQxMjEiLCJhbGdvcml0aG0iOiJzaGEyNTYifSx7Im5hbWUiOiJzdWIvX19pbml0X18ucHkiLCJkaWdlc3QiOiJlM2IwYzQ0Mjk4ZmMxYzE0OWFmYmY0Yzg5OTZmYjkyNDI3YWU0MWU0NjQ5YjkzNGNhNDk1OTkxYjc4NTJiODU1IiwiYWxnb3JpdGhtIjoic2hhMjU2In0seyJuYW1lIjoic3ViL3Rva2VuaXplci5qc29uIiwiZGlnZXN0IjoiMmZhMTRiNTk5ZDU1ZGVjYjZlOGExMGQ1ZWE4NjU0ZDRiODA0ZmNjZWNmMWI2YWZjNGYwZTQwOWEwMjYyMDFiMSIsImFsZ29yaXRobSI6InNoYTI1NiJ9LHsibmFtZSI6IndlaWdodHMuYmluIiwiZGlnZXN0IjoiZjkxYWU2ZmFhNDFhNmM4ZTMwZDdlYWMyYjljMDhlOThhMjc4ZWIwN2IyYmZhMjVmNWNlMmYzZDQ5NTdmMTRjYyIsImFsZ29yaXRobSI6InNoYTI1NiJ9XX19",
    "payloadType": "application/vnd.in-toto+json",
    "signatures": [
      {
        "sig": "MGUCMBGx11kzCIeNVWS0RlieHm3ocosk5ydYQYHTWA4VGNmm1NCGYNNvve/c7vwAxkNbTAIxALWPxTS1i+PEDynjMtgIfoSsT0LL4ocf3TQwcrlzDHDJ6zPmxqzW5Kcxr/F9/vIXSw==",
        "keyid": ""
      }
    ]
  }
}
