// A libp2p Ed25519 identity generated once per repo.
// Peer ID = base58btc(identity multihash(protobuf PublicKey{Type: Ed25519, Data: 32 bytes})).
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { base58btc } from 'multiformats/bases/base58'
import { writeFileAtomic } from './atomic.mjs'

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

// libp2p crypto.proto: message PublicKey/PrivateKey { KeyType Type = 1; bytes Data = 2; }, Ed25519 = 1
function protoKey (data) {
  return Buffer.concat([Buffer.from([0x08, 0x01, 0x12, data.length]), data])
}

function rawPublicKey (keyObject) {
  const jwk = keyObject.export({ format: 'jwk' })
  return Buffer.from(jwk.x, 'base64url')
}

export function peerIdFromPublicKey (pub32) {
  const pb = protoKey(pub32) // 36 bytes
  const mh = Buffer.concat([Buffer.from([0x00, pb.length]), pb]) // identity multihash
  // libp2p peer ids are bare base58btc (no multibase prefix)
  return { id: base58btc.encode(mh).slice(1), publicKey: pb.toString('base64') }
}

export function loadOrCreateIdentity (repoDir) {
  const file = path.join(repoDir, 'identity.json')
  if (fs.existsSync(file)) {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'))
    const priv = Buffer.from(saved.PrivKey, 'base64')
    if (priv.length !== 68 || priv[0] !== 0x08 || priv[1] !== 0x01) throw new Error(`${file}: unsupported private key`)
    const seed = priv.subarray(4, 36)
    const key = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
    const pub = rawPublicKey(crypto.createPublicKey(key))
    const ident = peerIdFromPublicKey(pub)
    if (saved.PeerID && saved.PeerID !== ident.id) throw new Error(`${file}: PeerID does not match the key`)
    return ident
  }
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519')
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d, 'base64url')
  const pub = rawPublicKey(publicKey)
  const ident = peerIdFromPublicKey(pub)
  const saved = { PeerID: ident.id, PrivKey: protoKey(Buffer.concat([seed, pub])).toString('base64') }
  writeFileAtomic(file, JSON.stringify(saved, null, 2) + '\n', 0o600)
  return ident
}
