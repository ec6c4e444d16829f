from hub.services.portal.app import main

main()
