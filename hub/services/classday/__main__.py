from hub.services.classday.service import main

main()
