"""The offline install bundle (`truongso bundle`): everything `make run` fetches, in one checksummed archive, for a
school on a closed network. Made on a connected machine of the same kind (Debian 12, x86_64, Python 3.11):

    truongso-<version>/                the source tree (`git ls-files`), so `make run` runs from it
    truongso-<version>/build/images/wheels/   the images' locked wheels (images.build reuses them, never downloads)
    truongso-<version>/offline/wheels/        every wheel the hub's virtualenv installs (pip, no index)
    truongso-<version>/offline/npm-cache/     the proxy's npm packages (npm ci --offline)
    truongso-<version>/offline/debs/          the Debian packages `make run` installs, with all they depend on
    truongso-<version>/offline/images.tar     `docker save` of the base, workspace and grader images
    truongso-<version>/offline/MANIFEST.json  what is inside, and from which commit
    truongso-<version>/SHA256SUMS              every file's checksum (sha256sum -c), checked before anything
                                               is installed

On the closed machine: `sha256sum -c truongso-<version>.tar.sha256`, `tar xf`, then
`bash truongso-<version>/scripts/offline-install.sh`, which checks every file, installs the Debian packages
that are missing, and runs `make run`; the Makefile sees `offline/` and sends pip and npm there.
"""
