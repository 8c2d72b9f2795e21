# Pinned by vendor.yaml; rewritten by `vendor apply`.
HELLO_VERSION := v1.0.0
