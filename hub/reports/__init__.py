"""The school's yearly reports: figures for a year (engine), server-side charts, XLSX/CSV exports."""
