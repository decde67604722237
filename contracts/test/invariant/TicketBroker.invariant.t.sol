// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {TicketBroker} from "../../src/TicketBroker.sol";
import {BrokerHandler} from "./BrokerHandler.sol";

/// @notice Properties that hold after any sequence of funding, unlocking, withdrawing and
/// (batch) redeeming, replays included. Calls per run: see [invariant] in foundry.toml.
contract TicketBrokerInvariantTest is Test {
    TicketBroker internal broker;
    BrokerHandler internal handler;

    function setUp() public {
        broker = new TicketBroker(1 days, 3);
        handler = new BrokerHandler(broker);
        targetContract(address(handler));
    }

    function invariant_NoTicketIsRedeemedTwice() public view {
        vm.assertEq(handler.ghostDoubleRedemptions(), 0, "a ticket hash was redeemed twice");
    }

    function invariant_EtherIsConserved() public view {
        uint256 booked;
        for (uint256 i; i < 3; ++i) {
            TicketBroker.Sender memory s = broker.getSender(handler.senders(i));
            booked += uint256(s.deposit) + s.reserve;
        }
        vm.assertEq(address(broker).balance, booked, "broker balance = deposits + reserves");
        vm.assertEq(
            handler.ghostFunded(),
            booked + handler.ghostPaid() + handler.ghostWithdrawn(),
            "funded = held + paid to recipients + withdrawn by senders"
        );
    }

    function invariant_ReserveClaimsStayWithinShares() public view {
        for (uint256 i; i < 3; ++i) {
            address sender = handler.senders(i);
            TicketBroker.Sender memory s = broker.getSender(sender);
            uint256 share = (uint256(s.reserve) + s.reserveClaimed) / 3;
            uint256 claimedSum;
            for (uint256 j; j < 3; ++j) {
                uint256 c = broker.claimedReserve(sender, s.epoch, handler.recipients(j));
                // A top-up can only grow shares, so past claims never exceed the current share.
                vm.assertLe(c, share, "recipient claimed more than its share");
                claimedSum += c;
            }
            vm.assertEq(claimedSum, s.reserveClaimed, "claims add up to reserveClaimed");
        }
    }

    /// @dev forge calls this after each run: the properties above mean little if nothing was redeemed.
    function afterInvariant() public view {
        vm.assertGt(handler.ghostRedemptions(), 0, "the run never redeemed a ticket");
    }
}
