"""The no-op model of bench/overhead.py (see image/Dockerfile)."""
