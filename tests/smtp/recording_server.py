"""A plain SMTP server that offers AUTH and writes down every command line it receives, to show
what a client hands to a server it should not trust (the tests check that a stored password
never reaches another host). Standard library only.

Usage: recording_server.py PORT LOG   (listens on 127.0.0.1:PORT, appends lines to LOG, says
"ready" on stdout once it listens)."""
import socketserver
import sys


class Session(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def note(self, line):
        with open(LOG, "a", encoding="utf-8", errors="replace") as f:
            f.write(line + "\n")

    def handle(self):
        self.reply("220 recorder ESMTP")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.note(line)
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-recorder")
                self.reply("250-AUTH PLAIN LOGIN")
                self.reply("250 8BITMIME")
            elif verb == "AUTH":
                parts = line.split()
                if len(parts) == 2 and parts[1].upper() == "LOGIN":
                    self.reply("334 VXNlcm5hbWU6")
                    self.note(self.rfile.readline().decode().strip())
                    self.reply("334 UGFzc3dvcmQ6")
                    self.note(self.rfile.readline().decode().strip())
                self.reply("235 2.7.0 accepted")
            elif verb == "DATA":
                self.reply("354 go on")
                while True:
                    data = self.rfile.readline()
                    if not data or data in (b".\r\n", b".\n"):
                        break
                self.reply("250 2.0.0 kept")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    PORT, LOG = int(sys.argv[1]), sys.argv[2]
    with Server(("127.0.0.1", PORT), Session) as server:
        print("ready", flush=True)
        server.serve_forever()
