BEGIN TRANSACTION;
CREATE TABLE certificate_audit (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR(80) NOT NULL, 
	action VARCHAR(16) NOT NULL, 
	serial VARCHAR(32) NOT NULL, 
	username VARCHAR(64) NOT NULL, 
	course_id VARCHAR(64) NOT NULL, 
	detail TEXT NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "certificate_audit" VALUES(1,'2026-12-01 02:03:04.000000','admin','issue','TS-2026-000001','hocvien1','phan-tich-du-lieu','{}');
CREATE TABLE certificate_serials (
	year INTEGER NOT NULL, 
	last_seq INTEGER NOT NULL, 
	PRIMARY KEY (year)
);
CREATE TABLE certificates (
	id INTEGER NOT NULL, 
	serial VARCHAR(32) NOT NULL, 
	year INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	username VARCHAR(64) NOT NULL, 
	course_id VARCHAR(64) NOT NULL, 
	class_name VARCHAR(64), 
	full_name VARCHAR(200) NOT NULL, 
	organisation VARCHAR(300) NOT NULL, 
	course_title_vi VARCHAR(300) NOT NULL, 
	course_title_en VARCHAR(300) NOT NULL, 
	hours FLOAT NOT NULL, 
	completed_on DATE, 
	issued_at DATETIME NOT NULL, 
	issued_on DATE NOT NULL, 
	decision VARCHAR(120) NOT NULL, 
	issued_by VARCHAR(80) NOT NULL, 
	credential TEXT NOT NULL, 
	revoked_at DATETIME, 
	revoked_reason VARCHAR(500), 
	revoked_by VARCHAR(80), 
	PRIMARY KEY (id), 
	UNIQUE (serial), 
	CONSTRAINT uq_certificates_year_seq UNIQUE (year, seq)
);
CREATE TABLE classes (
	name VARCHAR(64) NOT NULL, 
	title VARCHAR(300) NOT NULL, 
	course_id VARCHAR(64), 
	year INTEGER, 
	funding VARCHAR(16), 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (name)
);
CREATE TABLE enrolments (
	id INTEGER NOT NULL, 
	class_name VARCHAR(64) NOT NULL, 
	username VARCHAR(64) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(class_name) REFERENCES classes (name) ON DELETE CASCADE, 
	FOREIGN KEY(username) REFERENCES people (username) ON DELETE CASCADE, 
	UNIQUE (class_name, username)
);
CREATE TABLE exchange_deadlines (
	course_id VARCHAR(64) NOT NULL, 
	assignment_id VARCHAR(64) NOT NULL, 
	class_name VARCHAR(64) NOT NULL, 
	due_at DATETIME NOT NULL, 
	set_by VARCHAR(128) NOT NULL, 
	set_at DATETIME NOT NULL, 
	PRIMARY KEY (course_id, assignment_id, class_name)
);
INSERT INTO "exchange_deadlines" VALUES('phan-tich-du-lieu','01-python-co-ban','*','2026-12-27 10:00:00.000000','giangvien','2026-12-02 22:36:47.937405');
INSERT INTO "exchange_deadlines" VALUES('phan-tich-du-lieu','01-python-co-ban','DEMO','2026-12-20 17:00:00.000000','giangvien','2026-12-02 22:36:47.949518');
INSERT INTO "exchange_deadlines" VALUES('phan-tich-du-lieu','01-python-co-ban','API','2026-12-21 03:04:05.678901','giangvien','2026-12-02 22:36:47.958907');
INSERT INTO "exchange_deadlines" VALUES('phan-tich-du-lieu','01-python-co-ban','MOVED','2026-12-19 17:00:00.000000','giangvien','2026-12-02 22:36:48.085974');
CREATE TABLE exchange_feedback (
	id INTEGER NOT NULL, 
	submission_id VARCHAR(32) NOT NULL, 
	notebook_id VARCHAR(255) NOT NULL, 
	blob VARCHAR(64) NOT NULL, 
	released_by VARCHAR(128) NOT NULL, 
	released_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(submission_id) REFERENCES exchange_submissions (id) ON DELETE CASCADE, 
	UNIQUE (submission_id, notebook_id)
);
CREATE TABLE exchange_releases (
	id INTEGER NOT NULL, 
	course_id VARCHAR(64) NOT NULL, 
	assignment_id VARCHAR(64) NOT NULL, 
	blob VARCHAR(64) NOT NULL, 
	size INTEGER NOT NULL, 
	notebooks TEXT NOT NULL, 
	released_by VARCHAR(128) NOT NULL, 
	released_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (course_id, assignment_id)
);
INSERT INTO "exchange_releases" VALUES(1,'phan-tich-du-lieu','01-python-co-ban','a4d451ec23463726f72c43d64c710968f6b602cd653b4de8adee1b556240a829',7,'["a.ipynb"]','giangvien','2026-12-02 22:36:47.918601');
CREATE TABLE exchange_submissions (
	id VARCHAR(32) NOT NULL, 
	course_id VARCHAR(64) NOT NULL, 
	assignment_id VARCHAR(64) NOT NULL, 
	student VARCHAR(128) NOT NULL, 
	class_name VARCHAR(64) NOT NULL, 
	submitted_at DATETIME NOT NULL, 
	timestamp VARCHAR(64) NOT NULL, 
	attempt INTEGER NOT NULL, 
	blob VARCHAR(64) NOT NULL, 
	size INTEGER NOT NULL, 
	notebooks TEXT NOT NULL, 
	due_at DATETIME, 
	seconds_late INTEGER NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "exchange_submissions" VALUES('bebdf2f94222c494faf4f35188bff717','phan-tich-du-lieu','01-python-co-ban','hocvien1','DEMO','2026-12-20 09:59:00.000000','2026-12-20 09:59:00.000000 UTC',1,'2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881',1,'["a.ipynb"]','2026-12-20 17:00:00.000000',0);
INSERT INTO "exchange_submissions" VALUES('71f7368d598ba2471489ba205cd1988c','phan-tich-du-lieu','01-python-co-ban','hocvien2','DEMO','2026-12-20 10:01:00.000000','2026-12-20 10:01:00.000000 UTC',1,'2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881',1,'["a.ipynb"]','2026-12-20 17:00:00.000000',0);
INSERT INTO "exchange_submissions" VALUES('b794a3395bb9c7e7e0d4457c084d5ae9','phan-tich-du-lieu','01-python-co-ban','hocvien3','DEMO','2026-12-20 16:30:00.000000','2026-12-20 16:30:00.000000 UTC',1,'2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881',1,'["a.ipynb"]','2026-12-20 17:00:00.000000',0);
INSERT INTO "exchange_submissions" VALUES('3d2e0a0c371b259da8ec6e5e387ce364','phan-tich-du-lieu','01-python-co-ban','hocvien4','OTHER','2026-12-27 11:00:00.000000','2026-12-27 11:00:00.000000 UTC',1,'2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881',1,'["a.ipynb"]','2026-12-27 10:00:00.000000',3600);
INSERT INTO "exchange_submissions" VALUES('61f9915154d663688674442f7d50e49c','phan-tich-du-lieu','01-python-co-ban','hocvien5','API','2026-12-21 03:00:00.000000','2026-12-21 03:00:00.000000 UTC',1,'2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881',1,'["a.ipynb"]','2026-12-21 03:04:05.678901',0);
INSERT INTO "exchange_submissions" VALUES('f0475e2dd4965cab1f961b59d15a7f92','phan-tich-du-lieu','01-python-co-ban','hocvien6','MOVED','2026-12-18 12:00:00.000000','2026-12-18 12:00:00.000000 UTC',1,'2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881',1,'["a.ipynb"]','2026-12-18 17:00:00.000000',0);
CREATE TABLE people (
	username VARCHAR(64) NOT NULL, 
	full_name VARCHAR(200) NOT NULL, 
	email VARCHAR(254), 
	organisation VARCHAR(300) NOT NULL, 
	is_admin BOOLEAN NOT NULL, 
	must_change_password BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (username), 
	UNIQUE (email)
);
INSERT INTO "people" VALUES('hocvien1','Nguyễn Văn An','an@example.vn','',0,0,'2026-11-30 01:02:03.000000','2026-12-02 22:36:48.132819');
CREATE TABLE truongso_alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT truongso_alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "truongso_alembic_version" VALUES('0001');
CREATE TABLE truongso_certificates_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT truongso_certificates_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "truongso_certificates_version" VALUES('c0001');
CREATE TABLE truongso_exchange_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT truongso_exchange_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "truongso_exchange_version" VALUES('x0001');
CREATE TABLE users_info (
	id INTEGER NOT NULL, 
	username VARCHAR(128) NOT NULL, 
	password BLOB NOT NULL, 
	is_authorized BOOLEAN, 
	login_email_sent BOOLEAN, 
	email VARCHAR(128), 
	has_2fa BOOLEAN, 
	otp_secret VARCHAR(16), 
	CONSTRAINT pk_users_info PRIMARY KEY (id)
);
CREATE INDEX ix_enrolments_class_name ON enrolments (class_name);
CREATE INDEX ix_enrolments_username ON enrolments (username);
CREATE INDEX ix_exchange_submissions_assignment_id ON exchange_submissions (assignment_id);
CREATE INDEX ix_exchange_submissions_course_id ON exchange_submissions (course_id);
CREATE INDEX ix_exchange_submissions_student ON exchange_submissions (student);
CREATE INDEX ix_exchange_feedback_submission_id ON exchange_feedback (submission_id);
CREATE INDEX ix_certificates_username ON certificates (username);
CREATE INDEX ix_certificates_course_id ON certificates (course_id);
CREATE UNIQUE INDEX uq_certificates_active_learner ON certificates (username, course_id) WHERE revoked_at IS NULL;
CREATE INDEX ix_certificate_audit_at ON certificate_audit (at);
CREATE INDEX ix_certificate_audit_serial ON certificate_audit (serial);
COMMIT;
