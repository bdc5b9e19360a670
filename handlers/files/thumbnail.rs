//! Image work for thumbnails: decode with limits, shrink to fit 256 px, encode as JPEG. It runs
//! on the blocking pool behind a semaphore, so a burst of large images cannot take every core
//! or gigabytes of memory at once.

use std::io::Cursor;

use image::{ImageReader, Limits};
use tokio::sync::Semaphore;

/// The longest side of a thumbnail.
pub const SIZE: u32 = 256;
/// Sources larger than this are not decoded (the largest image category is 25 MB).
pub const MAX_SOURCE_BYTES: u64 = 32 * 1024 * 1024;
/// 64 megapixels: a 12-megapixel photo fits five times over; a decompression bomb does not.
const MAX_PIXELS: u64 = 64_000_000;
const MAX_SIDE: u32 = 20_000;
/// The decoder's own allocation cap (RGBA at the pixel limit, with headroom).
const MAX_ALLOC: u64 = 512 * 1024 * 1024;
const QUALITY: u8 = 82;

/// Two images at a time: one per core of the machines this runs on.
static IMAGE_WORK: Semaphore = Semaphore::const_new(2);

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The bytes are not an image we can read within the limits: retrying will not help.
    #[error("{0}")]
    Unreadable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Debug)]
pub struct Rendered {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

/// Decodes `bytes` and renders the thumbnail, on the calling thread.
pub fn render_blocking(bytes: &[u8]) -> Result<Rendered, RenderError> {
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(RenderError::Unreadable(format!(
            "the image is larger than {MAX_SOURCE_BYTES} bytes"
        )));
    }
    let reader = || -> Result<ImageReader<Cursor<&[u8]>>, RenderError> {
        let mut reader = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| RenderError::Unreadable(e.to_string()))?;
        reader.limits(limits());
        Ok(reader)
    };
    // The header alone first: a bomb is refused before a byte of it is decoded.
    let (width, height) = reader()?
        .into_dimensions()
        .map_err(|e| RenderError::Unreadable(e.to_string()))?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(RenderError::Unreadable(format!(
            "{width}x{height} is more than {MAX_PIXELS} pixels"
        )));
    }
    let image = reader()?
        .decode()
        .map_err(|e| RenderError::Unreadable(e.to_string()))?;
    let small = image.thumbnail(SIZE, SIZE).to_rgb8();
    let mut jpeg = Vec::with_capacity(32 * 1024);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, QUALITY)
        .encode_image(&small)
        .map_err(|e| RenderError::Internal(e.into()))?;
    Ok(Rendered {
        width: small.width(),
        height: small.height(),
        jpeg,
    })
}

/// [`render_blocking`] on the blocking pool, at most two at a time.
pub async fn render(bytes: bytes::Bytes) -> Result<Rendered, RenderError> {
    let _permit = IMAGE_WORK
        .acquire()
        .await
        .map_err(|e| RenderError::Internal(e.into()))?;
    tokio::task::spawn_blocking(move || render_blocking(&bytes))
        .await
        .map_err(|e| RenderError::Internal(e.into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn fits_the_longest_side_to_256() {
        let rendered = render_blocking(&png(1024, 512)).unwrap();
        assert_eq!((rendered.width, rendered.height), (256, 128));
        assert_eq!(&rendered.jpeg[..3], b"\xff\xd8\xff");
    }

    #[test]
    fn refuses_garbage_and_bombs_without_decoding() {
        assert!(matches!(
            render_blocking(b"\x89PNG\r\n\x1a\nnot really"),
            Err(RenderError::Unreadable(_))
        ));
        // A PNG header that claims 30000 x 30000 pixels, with no data behind it.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&30_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&30_000u32.to_be_bytes());
        match render_blocking(&bomb) {
            Err(RenderError::Unreadable(why)) => assert!(
                why.contains("limit") || why.contains("pixels") || why.contains("CRC"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
