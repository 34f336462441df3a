//! The seam between validated operations and the code that runs them. Each backend implements
//! the three operations on problems that already passed the shared validation; the operations
//! pick the backend of the device that holds the data (`ops::backend_for`).

use crate::error::Result;
use crate::problem::{DecodeProblem, FillProblem, PrefillProblem};
use crate::tensor::TensorViewMut;

pub(crate) trait Backend: Sync {
    fn decode(&self, problem: &DecodeProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()>;
    fn prefill(&self, problem: &PrefillProblem<'_, '_>, out: &mut TensorViewMut<'_>) -> Result<()>;
    fn fill(
        &self,
        problem: &FillProblem<'_, '_>,
        k_cache: &mut TensorViewMut<'_>,
        v_cache: &mut TensorViewMut<'_>,
    ) -> Result<()>;
}
