"""Tests of the deployment files under deploy/: what can be checked without a cluster."""
