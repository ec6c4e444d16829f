"""Kubernetes, on paper: Trường Số's settings as Zero to JupyterHub Helm values (values.py) plus the objects for our
own services. Rendered and schema-checked by unit tests only; never run against a Kubernetes cluster here
(docs/kubernetes.md)."""
