//! RTP packets (RFC 3550 section 5.1): parse and build.

/// Why a datagram is not an RTP packet Parley can use.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtpError {
    /// Shorter than its headers say.
    #[error("truncated RTP packet")]
    Truncated,
    /// Version is not 2.
    #[error("not RTP version 2")]
    Version,
    /// Padding count larger than the payload.
    #[error("bad RTP padding")]
    Padding,
}

/// A parsed RTP packet borrowing the datagram.
#[derive(Debug, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Marker bit.
    pub marker: bool,
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
    /// Payload, padding removed.
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Parses a datagram.
    pub fn parse(data: &'a [u8]) -> Result<RtpPacket<'a>, RtpError> {
        if data.len() < 12 {
            return Err(RtpError::Truncated);
        }
        if data[0] >> 6 != 2 {
            return Err(RtpError::Version);
        }
        let padding = data[0] & 0x20 != 0;
        let extension = data[0] & 0x10 != 0;
        let csrc = usize::from(data[0] & 0x0F);
        let mut start = 12 + 4 * csrc;
        if data.len() < start {
            return Err(RtpError::Truncated);
        }
        if extension {
            if data.len() < start + 4 {
                return Err(RtpError::Truncated);
            }
            let words = usize::from(u16::from_be_bytes([data[start + 2], data[start + 3]]));
            start += 4 + 4 * words;
            if data.len() < start {
                return Err(RtpError::Truncated);
            }
        }
        let mut end = data.len();
        if padding {
            let pad = usize::from(data[end - 1]);
            if pad == 0 || pad > end - start {
                return Err(RtpError::Padding);
            }
            end -= pad;
        }
        Ok(RtpPacket {
            marker: data[1] & 0x80 != 0,
            payload_type: data[1] & 0x7F,
            sequence: u16::from_be_bytes([data[2], data[3]]),
            timestamp: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
            ssrc: u32::from_be_bytes([data[8], data[9], data[10], data[11]]),
            payload: &data[start..end],
        })
    }

    /// Serializes into `out` (cleared first).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.clear();
        out.push(0x80);
        out.push(u8::from(self.marker) << 7 | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(self.payload);
    }
}

/// Whether a datagram on the RTP port is RTCP (RFC 5761 section 4: payload types 64 to 95).
pub fn is_rtcp(data: &[u8]) -> bool {
    data.len() >= 2 && (192..=223).contains(&data[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = RtpPacket { marker: true, payload_type: 0, sequence: 65535, timestamp: 160, ssrc: 0xdead_beef, payload: &[1, 2, 3] };
        let mut buf = Vec::new();
        p.write(&mut buf);
        assert_eq!(RtpPacket::parse(&buf).unwrap(), p);
    }

    #[test]
    fn csrc_extension_and_padding() {
        let mut d = vec![0xB1, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        d.extend_from_slice(&[9, 9, 9, 9]); // one CSRC
        d.extend_from_slice(&[0xBE, 0xDE, 0, 1, 7, 7, 7, 7]); // one-word extension
        d.extend_from_slice(&[5, 6, 0, 2]); // payload 5 6, two padding octets
        let p = RtpPacket::parse(&d).unwrap();
        assert_eq!(p.payload, &[5, 6]);
        assert_eq!(p.payload_type, 8);
    }

    #[test]
    fn garbage_is_rejected_not_panicked_on() {
        assert_eq!(RtpPacket::parse(&[0x80; 5]), Err(RtpError::Truncated));
        assert_eq!(RtpPacket::parse(&[0x40; 12]), Err(RtpError::Version));
        assert_eq!(RtpPacket::parse(&[0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200]), Err(RtpError::Padding));
        assert_eq!(RtpPacket::parse(&[0x8F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Err(RtpError::Truncated));
    }
}
