// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {SegmintToken} from "../../src/SegmintToken.sol";
import {StakingManager} from "../../src/StakingManager.sol";
import {StakingHandler} from "./StakingHandler.sol";

/// @notice Properties that hold after any sequence of bonding, unbonding, withdrawing and slashing.
contract StakingManagerInvariantTest is Test {
    SegmintToken internal token;
    StakingManager internal staking;
    StakingHandler internal handler;

    function setUp() public {
        token = new SegmintToken(address(this));
        staking = new StakingManager(
            token,
            StakingManager.Params({
                unbondingPeriod: 7 days,
                jailPeriod: 1 days,
                slashBps: 2_500,
                challengerRewardBps: 5_000,
                minStake: 1 ether
            }),
            address(this)
        );
        address verifier = address(0xC0FFEE);
        staking.grantRole(staking.VERIFIER_ROLE(), verifier);
        handler = new StakingHandler(token, staking, verifier);
        token.transferOwnership(address(handler)); // the handler mints for its workers
        targetContract(address(handler));
    }

    function invariant_SlashingNeverExceedsStake() public view {
        vm.assertEq(handler.ghostSlashAboveStake(), 0, "a slash took more than the stake");
        for (uint256 i; i < 3; ++i) {
            address w = handler.workers(i);
            vm.assertLe(handler.ghostSlashed(w), handler.ghostBonded(w), "slashed more than ever bonded");
        }
    }

    function invariant_WithdrawnNeverExceedsBonded() public view {
        for (uint256 i; i < 3; ++i) {
            address w = handler.workers(i);
            vm.assertLe(
                handler.ghostWithdrawn(w) + handler.ghostSlashed(w),
                handler.ghostBonded(w),
                "withdrawn + slashed > bonded"
            );
        }
    }

    function invariant_TokensHeldEqualStakes() public view {
        uint256 staked;
        for (uint256 i; i < 3; ++i) {
            address w = handler.workers(i);
            StakingManager.Stake memory s = staking.getStake(w);
            staked += uint256(s.bonded) + s.unbonding;
            vm.assertEq(
                uint256(s.bonded) + s.unbonding,
                handler.ghostBonded(w) - handler.ghostWithdrawn(w) - handler.ghostSlashed(w),
                "stake = bonded - withdrawn - slashed"
            );
        }
        vm.assertEq(token.balanceOf(address(staking)), staked, "contract holds exactly the stakes");
    }

    function invariant_EvidenceNeverSlashesTwice() public view {
        vm.assertEq(handler.ghostDoubleSlashes(), 0, "one offence slashed twice");
    }

    /// @dev forge calls this after each run: the properties above mean little if nothing was slashed.
    function afterInvariant() public view {
        vm.assertGt(handler.ghostSlashCount(), 0, "the run never slashed");
    }
}
