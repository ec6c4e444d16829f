"""What `truongso up` makes sure of before it becomes the hub, one `ensure_*` step per module (as TLJH's
installer): the data directory (data_dir), the ports (ports), Docker and the host's protection (docker_host),
the database, course folders and accounts (content). Each step checks first and says in both languages what is
wrong; `hub/cli/up.py` calls them in order."""
