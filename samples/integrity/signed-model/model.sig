{
  "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
  "verificationMaterial": {
    "publicKey": {
      "hint": "93966099225a65bd16fadcf0115a4dc95a905e700460b258a688f99405335f1d"
    },
    "tlogEntries": []
  },
  "dsseEnvelope": {
    "payload": "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEiLCJzdWJqZWN0IjpbeyJuYW1lIjoibW9kZWwiLCJkaWdlc3QiOnsic2hhMjU2IjoiMDFlZGE4NjgxZDUzZjU4OGJhMDkzNzUwNWQyYzM1NGMwYzU4MDkzNjUzMTE3ZDY3NmE5YmUzZTI3YmIzNzA0NiJ9fV0sInByZWRpY2F0ZVR5cGUiOiJodHRwczovL21vZGVsX3NpZ25pbmcvc2lnbmF0dXJlL3YxLjAiLCJwcmVkaWNhdGUiOnsic2VyaWFsaXphdGlvbiI6eyJtZXRob2QiOiJmaWxlcyIsImhhc2hfdHlwZSI6InNoYTI1NiIsImFsbG93X3N5bWxpbmtzIjpmYWxzZSwiaWdub3JlX3BhdGhzIjpbIi5naXQiLCIuZ2l0YXR0cmlidXRlcyIsIi5naXRodWIiLCIuZ2l0aWdub3JlIiwibW9kZWwuc2lnIl19LCJyZXNvdXJjZXMiOlt7Im5hbWUiOiJjb25maWcuanNvbiIsImRpZ2VzdCI6IjZhZTYyZmNhZWRjYmI3ZDlmNGRiNDQ0ODliZTMwOGFmZDJjNGQ0OGE5Y2M4NTUwMGY4NjU5YTBlYzhjNGQxMjEiLCJhbGdvcml0aG0iOiJzaGEyNTYifSx7Im5hbWUiOiJzdWIvX19pbml0X18ucHkiLCJkaWdlc3QiOiJlM2IwYzQ0Mjk4ZmMxYzE0OWFmYmY0Yzg5OTZmYjkyNDI3YWU0MWU0NjQ5YjkzNGNhNDk1OTkxYjc4NTJiODU1IiwiYWxnb3JpdGhtIjoic2hhMjU2In0seyJuYW1lIjoic3ViL3Rva2VuaXplci5qc29uIiwiZGlnZXN0IjoiMmZhMTRiNTk5ZDU1ZGVjYjZlOGExMGQ1ZWE4NjU0ZDRiODA0ZmNjZWNmMWI2YWZjNGYwZTQwOWEwMjYyMDFiMSIsImFsZ29yaXRobSI6InNoYTI1NiJ9LHsibmFtZSI6IndlaWdodHMuYmluIiwiZGlnZXN0IjoiZjkxYWU2ZmFhNDFhNmM4ZTMwZDdlYWMyYjljMDhlOThhMjc4ZWIwN2IyYmZhMjVmNWNlMmYzZDQ5NTdmMTRjYyIsImFsZ29yaXRobSI6InNoYTI1NiJ9XX19",
    "payloadType": "application/vnd.in-toto+json",
    "signatures": [
      {
        "sig": "MEUCIQD5tIn1j6Nd/efoJqayPEGeUxJk7sbfEjv7pqZ5LwQmtgIgVYnwx2VNulX8zaDOnRz+ckFTwaQB6bfRWGDSzRCmTy4=",
        "keyid": ""
      }
    ]
  }
}
