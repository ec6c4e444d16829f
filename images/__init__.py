"""Container images of Trường Số: the learner workspace and the grader sandbox.

`images.build.build_images()` builds both with no registry at all (debootstrap base, wheels
downloaded on the host, Docker builds with networking off). `python -m images.build` is its CLI;
`python -m images.lock` regenerates the hashed requirement locks.
"""
