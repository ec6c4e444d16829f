from hub.services.certificates.app import main

main()
