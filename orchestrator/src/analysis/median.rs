//! The median of sorted samples: the middle one, or the mean of the two middle ones.

/// The median of ascending `sorted` values: the middle one, or the mean of the two middle
/// ones; `None` when empty.
pub fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// [`median`] of whole numbers, the mean of the two middle ones rounded down.
pub(super) fn median_u64(sorted: &[u64]) -> Option<u64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn middle_value_or_mean_of_the_middle_two() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[-300.0, -150.0, -20.0]), Some(-150.0));
        assert_eq!(median(&[-50.0, -20.0]), Some(-35.0));
        assert_eq!(median_u64(&[]), None);
        assert_eq!(median_u64(&[25_200, 25_400, 25_500]), Some(25_400));
        // Rounded down.
        assert_eq!(median_u64(&[1, 2, 4, 9]), Some(3));
    }
}
