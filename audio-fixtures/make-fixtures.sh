#!/usr/bin/env bash
# Regenerates every audio fixture in this folder with espeak-ng and sox (Debian packages; `make
# setup` installs them). The texts and expected outcomes are in manifest.toml; keep the two in
# step. Output is deterministic for a given espeak-ng/sox version.
set -euo pipefail
cd "$(dirname "$0")"
command -v espeak-ng >/dev/null && command -v sox >/dev/null || {
  echo "make-fixtures: needs espeak-ng and sox (run make setup)" >&2; exit 2; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# say VOICE NAME TEXT: 16 kHz mono 16-bit speech with 300 ms of silence around it.
say() {
  espeak-ng -v "$1" -s 150 -w "$tmp/raw.wav" "$3"
  sox -q -R "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$2" gain -n -3 pad 0.3 0.3
}
# phone IN OUT: the telephone band: 300-3400 Hz, 8 kHz, through G.711 µ-law and back to PCM.
phone() {
  sox -q -R "$1" -r 8000 -e u-law "$tmp/ulaw.wav" sinc 300-3400
  sox -q -R "$tmp/ulaw.wav" -e signed-integer -b 16 "$2"
}

# English caller turns
say en-us en_order_status.wav    "Hello, where is my order? The order number is four eight one five two."
say en-us en_address_change.wav  "I want to change the shipping address for my order. The new address is twelve Park Street."
say en-us en_refund.wav          "I would like to get a refund for my order, please."
say en-us en_human_agent.wav     "Can I please talk to a real person?"
say en-us en_phone_number.wav    "My phone number is one three eight, one two three four, five six seven eight. Please call me back about my order."
say en-us en_long_turn.wav       "Hello, I ordered a pair of running shoes two weeks ago and they still have not arrived. The tracking page says the parcel left the warehouse on Monday, but nothing has changed since then. I paid for express shipping, so I expected it within three days. Could you tell me where the parcel is now, and when it will be delivered? If it is lost, I would like a replacement or my money back."

# Two turns with a pause long enough to end the first one.
say en-us "$tmp/t1.wav" "Where is my order?"
say en-us "$tmp/t2.wav" "Actually, can I talk to a person?"
sox -q -R "$tmp/t1.wav" -p pad 0 1.5 | sox -q -R - "$tmp/t2.wav" -b 16 en_two_turns.wav

# Conversations: caller turns with pauses in which the bot answers. conv TURN PAUSE ... OUT
conv() {
  local out="${@: -1}" parts=() i=0
  while (($# > 1)); do
    say en-us "$tmp/c$i.wav" "$1"
    sox -q -R "$tmp/c$i.wav" "$tmp/p$i.wav" pad 0 "$2"
    parts+=("$tmp/p$i.wav"); i=$((i + 1)); shift 2
  done
  sox -q -R "${parts[@]}" -b 16 "$out"
}
conv "Hello, where is my order?" 9 "The order number is four eight one five two." 9 "Thank you, goodbye." 3 conv_en_order.wav
conv "I would like to get a refund for my order, please." 9 "How long does the refund take?" 6 "Can I please talk to a real person?" 4 conv_en_refund.wav
conv "Do you have any discounts right now?" 7 "I want to change the shipping address for my order." 6 "That's all, thanks." 3 "$tmp/conv16.wav"
phone "$tmp/conv16.wav" conv_en_8k.wav
# Barge-in: the caller speaks over the bot's long answer to the first question.
conv "Where is my order?" 2.5 "Stop, I want to talk to a person." 5 conv_en_barge_in.wav

# The e-commerce dialog by voice: an address change of demo order 10001, confirmed.
conv "I want to change my shipping address." 7 "The order number is one zero zero zero one." 7 "Five Main Street." 6 "Yes, please." 4 conv_en_shop_address.wav

# Escalation: calls that must go to a person, each for one reason (see `escalation` in the
# manifest). Anger is tested on real emotional speech (tests/escalation.rs), not on espeak-ng.
conv "What is the weather like on Mars tonight?" 6 "Play some jazz music for me please." 4 en_not_understood.wav
conv "I want to change the delivery address." 7 "I am not sure." 6 "Please change my shipping address." 4 en_unresolved.wav
conv "I want to file a complaint about your service." 5 en_complaint.wav
# Keypad tones (in-band DTMF, 200 ms each with 100 ms gaps). key ROW_HZ COL_HZ OUT
key() {
  sox -q -R -n -r 16000 -c 2 "$tmp/k.wav" synth 0.2 sine "$1" sine "$2"
  sox -q -R "$tmp/k.wav" -b 16 "$3" remix 1,2 vol 0.4 pad 0 0.1
}
key 941 1336 "$tmp/k0.wav"; key 770 1209 "$tmp/k4.wav"; key 852 1336 "$tmp/k8.wav"
key 697 1209 "$tmp/k1.wav"; key 770 1336 "$tmp/k5.wav"; key 697 1336 "$tmp/k2.wav"; key 941 1477 "$tmp/kh.wav"
# The caller presses 0 (a person, please) after the bot's answer.
conv "What is your return policy?" 7 "$tmp/turn.wav"
sox -q -R "$tmp/turn.wav" "$tmp/k0.wav" -b 16 en_dtmf_zero.wav pad 0 2
# The caller types the order number the bot asks for: 4 8 1 5 2 #.
conv "Where is my order?" 7 "$tmp/turn2.wav"
sox -q -R "$tmp/turn2.wav" "$tmp/k4.wav" "$tmp/k8.wav" "$tmp/k1.wav" "$tmp/k5.wav" "$tmp/k2.wav" "$tmp/kh.wav" -b 16 en_dtmf_order.wav pad 0 8

# Mandarin caller turns (for the multilingual pipeline and the NLU; tiny.en cannot transcribe them)
say cmn zh_order_status.wav "我的订单到哪里了？订单号是四八一五二。"
say cmn zh_human_agent.wav  "我要转人工客服。"

# Telephone-band (8 kHz, G.711 round trip) versions
for f in en_order_status en_address_change en_refund en_human_agent; do phone "$f.wav" "${f}_8k.wav"; done
# one kept as a µ-law WAV, as a phone recording would be
sox -q -R en_order_status.wav -r 8000 -e u-law en_order_status_8k_ulaw.wav sinc 300-3400

# Other containers and rates: FLAC 48 kHz, MP3 44.1 kHz, OGG/Vorbis 22.05 kHz
sox -q -R en_order_status.wav -r 48000 en_order_status_48k.flac
sox -q -R en_human_agent.wav -r 44100 -C 64 en_human_agent_44k.mp3
sox -q -R en_refund.wav -r 22050 -C 3 en_refund_22k.ogg

# Stereo call recording: caller on the left, the other party on the right
sox -q -R en_refund.wav en_human_agent.wav -M "$tmp/st.wav"
sox -q -R "$tmp/st.wav" stereo_refund_left_agent_right.wav

# No speech: digital silence, and quiet room noise
sox -q -R -n -r 16000 -c 1 -b 16 silence.wav trim 0 3
sox -q -R -n -r 16000 -c 1 -b 16 room_noise.wav synth 3 pinknoise vol 0.003

# Bad input
printf 'this is a text file, not audio\n' > not_audio.wav
: > empty.wav
head -c 20000 en_long_turn.wav > truncated.wav

echo "make-fixtures: done"
