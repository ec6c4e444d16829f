"""Class sessions (thời khoá biểu): read a timetable from a spreadsheet (the roster's reader), check every row
(validate), apply all or nothing (importer), query (queries) and show in the school's wall time (display)."""
