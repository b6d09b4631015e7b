.PHONY: run test

# Set up and run Muster on SQLite with the demo forces, users and processes (http://127.0.0.1:5000/).
run:
	scripts/run.sh

# Set up and run the whole test suite (SQLite, PostgreSQL when available, browser tests).
test:
	scripts/test.sh
