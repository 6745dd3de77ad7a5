//! Integer and float arithmetic helpers with CPython semantics: numeric
//! hashing, true division, float floor division/modulo, rounding, powers.

use num_bigint::{BigInt, Sign};
use num_traits::ToPrimitive;

/// `2**e` as an `f64` for `0 <= e <= 1023`.
fn pow2(e: u64) -> f64 {
    f64::from_bits((1023 + e) << 52)
}

#[allow(clippy::result_unit_err)]
/// Converts an int to the nearest float (ties to even), as `float(v)`.
///
/// Returns `Err(())` when the result is too large for a float; the caller
/// raises `OverflowError: int too large to convert to float`.
pub fn bigint_to_f64(v: &BigInt) -> Result<f64, ()> {
    let mag = v.magnitude();
    let bits = mag.bits();
    let shift = bits.saturating_sub(64);
    if shift > 1023 {
        return Err(());
    }
    let top = (mag >> shift).to_u64().ok_or(())?;
    let sticky = shift > 0 && mag.trailing_zeros().unwrap_or(0) < shift;
    let top = top | u64::from(sticky);
    let r = (top as f64) * pow2(shift);
    if r.is_infinite() {
        return Err(());
    }
    Ok(if v.sign() == Sign::Minus { -r } else { r })
}
