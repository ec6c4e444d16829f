from hub.services.exchange.app import main

main()
