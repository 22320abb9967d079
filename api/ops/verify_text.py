"""VERIFY.txt: how anyone checks an evidence package without trusting the Vigil server."""

VERIFY_TEXT = r"""HOW TO VERIFY THIS EVIDENCE PACKAGE
===================================

Each alert's folder alerts/<alert_id>/ holds the evidence files (clip.mp4, best_raw.jpg,
best_annotated.jpg), its manifest(s) manifest.json (revision 1), manifest.rN.json (later
revisions of an event that grew; the highest N is the final one) and a signature file per
manifest (manifest.json.sig ...). Files of an earlier revision that differ from the final one
are under alerts/<alert_id>/rN/.

A manifest lists every evidence file with its SHA-256 and size. It is signed with Ed25519 by
the key whose public half is public_key.pem. The signature file is JSON:
  {"algorithm": "Ed25519", "key_id": ..., "manifest_sha256": ..., "signature": <base64>}
and signs the exact bytes of the manifest file.

1. Check the files against the manifest (any shell):

   cd alerts/<alert_id>
   sha256sum clip.mp4 best_raw.jpg best_annotated.jpg
   # compare with the "sha256" of each entry in "files" of the final manifest; also with report.pdf

2. Check the manifest's signature with OpenSSL 3:

   python3 -c "import json,base64,sys; sys.stdout.buffer.write(base64.b64decode(json.load(open('manifest.json.sig'))['signature']))" > manifest.sig.bin
   openssl pkeyutl -verify -pubin -inkey ../../public_key.pem -rawin -in manifest.json -sigfile manifest.sig.bin
   # prints "Signature Verified Successfully"

3. Or both in Python (needs the "cryptography" package), from the package's top folder:

   import base64, hashlib, json, pathlib
   from cryptography.hazmat.primitives.serialization import load_pem_public_key
   key = load_pem_public_key(pathlib.Path("public_key.pem").read_bytes())
   for sig in sorted(pathlib.Path("alerts").glob("*/manifest*.json.sig")):
       body = sig.with_suffix("").read_bytes()
       key.verify(base64.b64decode(json.loads(sig.read_text())["signature"]), body)  # raises if forged
       manifest = json.loads(body)
       folder = sig.parent
       for f in manifest["files"]:
           rev = manifest["revision"]
           candidates = [folder / f["name"]] + [folder / f"r{r}" / f["name"] for r in range(1, rev + 1)]
           data = next(p.read_bytes() for p in candidates
                       if p.exists() and hashlib.sha256(p.read_bytes()).hexdigest() == f["sha256"])
           assert len(data) == f["size"]
       print(sig.parent.name, "revision", manifest["revision"], "OK")

The public key can also be fetched from the Vigil server at /api/public-key; compare it with
public_key.pem. The clip holds the camera's own encoded video packets (remuxed, never re-encoded).
"""
